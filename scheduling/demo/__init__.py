"""The demo clinic builder: `python manage.py seed_demo`."""
