"""The city gazetteer: cities with English and Chinese names, provinces and coordinates."""
