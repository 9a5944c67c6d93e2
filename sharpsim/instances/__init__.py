"""Base policies π_base built by name (``make(name, **params)``); the registry imports the family modules itself."""

from sharpsim.instances.hard import HardPolicy, hard_parameters
from sharpsim.instances.registry import family_builder, family_names, make, register_family
from sharpsim.instances.hidden_sphere import HiddenSphereInstance
from sharpsim.instances.linear_margin import LinearMarginInstance
from sharpsim.instances.sphere import SphereInstance
