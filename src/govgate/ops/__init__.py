"""Operations around the runbook: init, the demo, doctor, rehearsal."""
