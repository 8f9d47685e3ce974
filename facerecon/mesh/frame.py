"""The crop frame every mesh, landmark and image of the study lives in (paper §3.3.3, §4.2).

Images are ``CROP_SIZE × CROP_SIZE`` crops; coordinates are crop pixels (x right, y down, z scaled like x and
larger towards the camera). Networks and metrics use the *normalized* frame: crop pixels / ``CROP_SIZE``.
"""

CROP_SIZE = 113  # paper §3.3.3 and §4.2: 113×113 inputs
