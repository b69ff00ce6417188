"""What an invited institution meets behind its personal link: the landing page and the
questionnaire.

These pages stand above the campaigns, the questionnaire's submissions and the review,
because a returning respondent sees all three at once: the invitation, the answer being
written and what the curators said about the last one.
"""
