"""Meetups: one evening in one city, 30 to 50 seats, face to face with the engineers: the meetup
itself, its settings and where it is (its seats are registration's)."""
