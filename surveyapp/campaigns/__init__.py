"""Survey campaigns: contacts linked to registry institutions, invitations with personal
links, reminders, opt-out and each invitee's status."""
