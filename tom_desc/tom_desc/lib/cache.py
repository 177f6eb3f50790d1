"""The name of the cache table that web pods share (settings.CACHE_BACKEND=database).

Settings point Django's database cache at it and ops' migration creates it, so the name has one
home here, beside neither."""

SHARED_CACHE_TABLE = "tom_desc_cache"
