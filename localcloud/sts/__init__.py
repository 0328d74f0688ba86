"""STS 2015-04-01: RAM roles and the temporary credentials ``AssumeRole`` issues for them."""
