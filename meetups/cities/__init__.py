"""The city gazetteer: cities with English and Chinese names, provinces and coordinates, finding a
city by any of its names or by a point, distances."""
