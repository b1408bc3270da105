"""The command line and the process model: parsing, the commands and their stages, worker processes, devices."""
