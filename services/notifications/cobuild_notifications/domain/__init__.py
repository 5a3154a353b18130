"""The notifications domain, pure: kinds and channels, who an event concerns, when a person
wants to hear of it, and the words of each message."""
