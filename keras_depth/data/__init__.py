"""Datasets: the synthetic generator, real-data readers, augmentation and the tf.data pipeline."""
