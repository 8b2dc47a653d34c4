"""Dataset readers. Importing this package registers every reader with keras_depth.data.registry.

| type | module | data |
|---|---|---|
| ``nyu_mat``, ``nyu_folder`` | nyu | NYU Depth v2 labeled .mat (v7.3/HDF5); RGB + 16-bit PNG mm |
| ``kitti_depth`` | kitti | KITTI annotated / projected-LiDAR depth PNG (/256) |
| ``tum`` | tum | TUM RGB-D (/5000, timestamp association) |
| ``diode`` | diode | DIODE npy depth + mask |
| ``sintel`` | sintel | MPI Sintel .dpt |
| ``middlebury``, ``sceneflow`` | pfm | PFM disparity (Middlebury, ETH3D, SceneFlow), depth via calib |
| ``manifest``, ``folder_pairs`` | generic | CSV/JSONL manifest; rgb/ + depth/ folders |
| ``frames`` | video | image folder or video file, no GT |
| ``stereo_folder``, ``kitti_stereo``, ``middlebury_stereo`` | stereo | rectified pairs |
| ``pseudo_labels`` | pseudo_labels | a folder of the distillation's pseudo-label cache |
| ``tfrecord`` | keras_depth.data.tfrecord | packed shards |

Calibrations (files and ``intrinsics`` options) put pixel centres at integer coordinates (OpenCV);
samples carry them with pixel centres at ``j + 0.5`` (``source.sample_intrinsics``).
"""
from keras_depth.data.readers import diode, generic, kitti, nyu, pfm, pseudo_labels, sintel, stereo, tum, video  # noqa: F401
from keras_depth.data.readers.source import BAD_DATA, bad_data_counts, reraise_data_error  # noqa: F401

import keras_depth.data.tfrecord  # noqa: E402,F401  (registers "tfrecord")
