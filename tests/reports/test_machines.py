"""Each measured figure names the machine(s) that measured it, in every branch: one, several, none recorded."""

from bakeoff.reports.deploy import deploy_section
from bakeoff.reports.machines import label, machines_of, measured_on

XEON = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "node": "a"}
EPYC = {"cpu": "AMD EPYC 9B14", "cores": 4, "node": "b"}


def test_one_machine_is_named_with_its_cores():
    assert measured_on([XEON, dict(XEON, node="another host, same model")]) == "on Intel(R) Xeon(R) Processor, 2 cores"
    assert label({"cpu": "Apple M2"}) == "Apple M2"  # cores not recorded: not made up


def test_several_machines_are_each_named_and_said_not_to_compare():
    text = measured_on([XEON, EPYC, XEON])
    assert text == ("on 2 different machines (Intel(R) Xeon(R) Processor, 2 cores; AMD EPYC 9B14, 4 cores), "
                    "so these times do not compare with each other")


def test_measurements_that_recorded_no_machine_are_counted_not_hidden():
    assert measured_on([None, {}]) == "on a machine not recorded"
    assert measured_on([XEON, None, {"cores": 2}]) == "on Intel(R) Xeon(R) Processor, 2 cores (2 of 3 measurements did not record their machine)"


def test_the_machines_of_a_run_are_its_commands_machines_in_order_else_the_last_one_recorded():
    commands = [{"argv": "bakeoff run", "machine": EPYC}, {"argv": "bakeoff run"}, {"argv": "bakeoff run", "machine": XEON},
                {"argv": "bakeoff report", "machine": EPYC}]
    assert machines_of(commands, XEON) == ["AMD EPYC 9B14, 4 cores", "Intel(R) Xeon(R) Processor, 2 cores"]
    assert machines_of([{"argv": "bakeoff run"}], XEON) == ["Intel(R) Xeon(R) Processor, 2 cores"]  # made before commands kept one
    assert machines_of([], None) == []


def test_the_deploy_section_names_the_machines_its_latencies_were_measured_on():
    found = {"ann": {"card": {}, "formats": {}, "machine": XEON}, "cnn": {"card": {}, "formats": {}, "machine": EPYC}}
    assert deploy_section(found)["measured_on"].startswith("on 2 different machines (Intel(R) Xeon(R) Processor, 2 cores; AMD EPYC 9B14")
    assert deploy_section({"ann": found["ann"]})["measured_on"] == "on Intel(R) Xeon(R) Processor, 2 cores"
