"""The core: the policy protocol and ``TabularPolicy``, the sealed sample-and-evaluate ``Oracle`` (Definition 3.2,
Definition D.1, footnote 7) with its immutable ledger, the ``Result`` base every algorithm returns, ``checked`` (the
budget and index checks inside ``jit``/``vmap``/``scan``), sampling and input validation."""

from sharpsim.core.checked import checked
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.core.protocols import Algorithm, ModelClass, Policy, SequencePolicy, SizedModelClass
from sharpsim.core.results import QueryBudgetExceeded, QueryCount, Result, SampleBatch, StoppedBatch
