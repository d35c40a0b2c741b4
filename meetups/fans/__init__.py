"""The fan base imported from the forum: who the fans are and where they live."""
