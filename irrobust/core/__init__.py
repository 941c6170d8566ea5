"""The ground floor: the stage algebra every ranker, shift and task may import (no irrobust imports above util)."""
