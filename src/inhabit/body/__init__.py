"""Body models (anny default, SMPL-X from user files), keypoint regressors and pose priors."""
