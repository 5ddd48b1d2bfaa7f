"""Small dialogs: a reason for ignoring, a yes/no confirmation, the filters."""
