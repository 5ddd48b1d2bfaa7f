"""Sources: where blobs come from (working tree, index, history). Each yields blobs with their origins."""
