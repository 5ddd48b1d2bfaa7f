"""The pure detection core: bytes in, matches out. Nothing here touches files, processes or the network."""
