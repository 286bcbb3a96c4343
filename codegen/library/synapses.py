"""Built-in weight-update models."""
from ..models import WeightUpdateModel

#: A fixed weight added to the target after the synapse's delay.
STATIC = WeightUpdateModel(name="StaticSynapse", vars=("weight",), pre_spike_code="add_to_post(weight);")
