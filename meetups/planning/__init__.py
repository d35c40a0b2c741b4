"""What planners do with the fan base: the city ranking, the two-week schedule, the dashboard and
its map, the planner's meetup pages (settings, attendees, invite codes, the forum post), the ranking API."""
