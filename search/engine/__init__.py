"""The search engine: the trial record, objective, budget, storage, studies, samplers and pruners, runner."""
