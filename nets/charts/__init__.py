"""What the pages draw of saved runs, beside the chart rules and training curves of nets.plots.

    confusion  confusion-matrix heat maps (one run, or two runs' difference), the clicked cell, bars per class
    grids      test images in grids: whole-pixel enlargement, ✓/✗ captions, contact sheets
    bench      python -m nets charts: the server's cost of one live-chart redraw
"""
