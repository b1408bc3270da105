"""What can be searched: parameter types, the ANN and CNN spaces, and user space files (no TensorFlow)."""

from bakeoff.spaces.errors import SpaceError
from bakeoff.spaces.families import (
    BASELINES,
    DEFAULT_SPACES,
    FAMILIES,
    LADDER_SCHEDULE,
    RECIPES,
    STARTS,
    get_spaces,
    laddered,
    load_space_file,
    on_the_ladder,
    start_in,
)
from bakeoff.spaces.params import Bool, Choice, Fixed, Float, Int, Param, param_from_config
from bakeoff.spaces.space import Config, Space

__all__ = [
    "BASELINES",
    "DEFAULT_SPACES",
    "FAMILIES",
    "LADDER_SCHEDULE",
    "RECIPES",
    "STARTS",
    "Bool",
    "Choice",
    "Config",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "Space",
    "SpaceError",
    "get_spaces",
    "laddered",
    "load_space_file",
    "on_the_ladder",
    "param_from_config",
    "start_in",
]
