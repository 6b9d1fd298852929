"""A real photo to push through layers: matplotlib ships a portrait of Grace Hopper."""
import numpy as np
import torch


def load_photo(size=128, grey=False):
    """The sample photo as a float tensor in [0, 1].

    Returns shape (3, size, size), or (1, size, size) with ``grey=True``: the centre square
    of the picture, resized with antialiasing.
    """
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        image = Image.open(f).convert("RGB")
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size),
                                                                    Image.LANCZOS)
    if grey:
        image = image.convert("L")
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()  # (C, H, W)
