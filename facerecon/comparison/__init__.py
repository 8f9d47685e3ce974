"""Reconstruction methods compared on one protocol (Table 3): predictors that map a sample to a mesh with its 68
landmarks, and their scores per face with intervals."""
