"""People's rights over what the registry stores about them (GDPR articles 15, 17, 21, 5(1)(e)).

Everything stored about one email address can be exported (access) or erased, history and
audit included, while institutions' non-personal registry data stays; a respondent can
withdraw the consent to publish their contact from their own link; data past its retention
period goes on command; and a public page says what is stored, why and for how long. This
area reads campaigns, submissions, reviews, the registry, history and staff accounts, so it
stands above them all.
"""
