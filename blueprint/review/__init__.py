"""What a change to the templates does when deployed: review reports and safe updates."""
