"""The name of the cache table that web pods share (settings.CACHE_BACKEND=database).

Settings point Django's database cache at it and ops' migration creates it; both take the name
from here, a module of neither."""

SHARED_CACHE_TABLE = "tom_desc_cache"
