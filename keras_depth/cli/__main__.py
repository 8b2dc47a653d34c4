"""``python -m keras_depth.cli``: the same as the ``keras-depth`` console command."""
import sys

from keras_depth.cli import main

sys.exit(main())
