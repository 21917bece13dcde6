// Anchor translation unit for the wire layer.
