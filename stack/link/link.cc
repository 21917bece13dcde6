// Anchor translation unit for the link layer.
