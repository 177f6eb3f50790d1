"""No tables of its own (tokens are the REST framework's). The module exists so that Django sends
this app post_migrate, on which apps.py disarms the anonymous placeholder user."""
