"""Turn a task's media URI into bytes, only ever from under a root the user named.

`sources` holds the types (what the user configured, what went wrong), `files` the safe reading of local
files, `resolvers` the built-in resolvers (plugins, `taxospec_media_resolvers`: plain paths, `data:` URIs,
http(s) from an allow-list; Label Studio's own URIs are resolved by its plugin), `dispatch` the one place
that picks a resolver for a URI. Embedding, thumbnails and duplicate checks all read media through
`dispatch`.
"""

from taxospec.media.dispatch import locate_media, read_media
from taxospec.media.sources import MediaProblem, MediaSources, is_inline, shown

__all__ = ["MediaProblem", "MediaSources", "is_inline", "locate_media", "read_media", "shown"]
