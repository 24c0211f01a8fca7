"""Arrays as pictures on a screen (nets/inspect/pictures.py): layouts, square padding, whole-pixel enlargement."""
import numpy as np
import pytest
from PIL import Image

from nets.inspect.pictures import border, enlarge, enlarge_to, square, tile_grid, to_chw, to_display


def test_to_chw_and_back():
    gray = Image.fromarray(np.zeros((30, 40), np.uint8))
    assert to_chw(gray).shape == (1, 30, 40)
    assert to_chw(Image.fromarray(np.zeros((300, 100, 3), np.uint8)), max_side=60).shape == (3, 60, 20)
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)     # H×W×3
    chw = to_chw(Image.fromarray(rgb))
    assert chw.shape == (3, 2, 3) and chw[1, 0, 2] == rgb[0, 2, 1]
    np.testing.assert_array_equal(to_display(chw), rgb)
    assert to_display(np.zeros((1, 5, 7), np.uint8)).shape == (5, 7)


def test_border_is_the_outer_ring():
    a = np.zeros((40, 40), np.uint8)
    a[2:38, 2:38] = 9
    assert (border(a) == 0).all() and border(a).size == 40 * 40 - 36 * 36


def test_enlarge_keeps_square_pixels():
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    big = enlarge(a, 4)
    assert big.shape == (8, 12) and big[5, 9] == a[1, 2]


@pytest.mark.parametrize(("shape", "px", "expected"), [
    ((28, 28), 224, (224, 224)),        # 8 × 8 squares
    ((28, 28), 112, (112, 112)),
    ((32, 20, 3), 112, (96, 60, 3)),    # the longer side decides: 3 × 3 squares, within 112
    ((28, 28), 100, (84, 84)),          # a whole factor: 3, not 100/28
    ((300, 200), 112, (300, 200)),      # never shrunk
])
def test_enlarge_to_a_size_by_whole_pixels(shape, px, expected):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    big = enlarge_to(a, px)
    assert big.shape == expected
    f = expected[0] // shape[0]
    np.testing.assert_array_equal(big[::f, ::f], a)                 # every pixel a f×f square
    np.testing.assert_array_equal(big[f - 1::f, f - 1::f], a)


def test_square_pads_with_the_border_colour():
    tall = np.full((10, 4, 3), 250, np.uint8)
    tall[3:7, 1:3] = 0
    sq = square(tall)
    assert sq.shape == (10, 10, 3) and (sq[:, :3] == 250).all() and (sq[3:7, 4:6] == 0).all()
    assert square(np.zeros((3, 8), np.uint8)).shape == (8, 8)


def test_tile_grid_places_tiles_in_rows_with_gaps():
    tiles = [np.full((2, 3), v, np.uint8) for v in (10, 20, 30)]
    grid = tile_grid(tiles, cols=2, gap=1, fill=7)
    assert grid.shape == (5, 7)
    assert (grid[:2, :3] == 10).all() and (grid[:2, 4:] == 20).all() and (grid[3:, :3] == 30).all()
    assert (grid[2] == 7).all() and (grid[:, 3] == 7).all() and (grid[3:, 4:] == 7).all()
    assert tile_grid(tiles, cols=9).shape == (2, 3 * 3 + 2 * 2)     # one row when cols exceed the tiles
    with pytest.raises(ValueError, match="No tiles"):
        tile_grid([], cols=2)
