"""The feedback pool: engineers' notes from meetups, fans' votes, and the ranking of what fans want."""
