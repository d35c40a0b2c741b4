"""Every change to a meetup's seats: registering, the waiting list, offers, invite codes, editing
a meetup's capacity and cancelling it; the fan's pages (the meetups, registering, the manage link),
the registration API and the registration emails."""
