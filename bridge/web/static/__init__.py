"""Static files of the bridge's web pages (a package so that they ship in the wheel)."""
