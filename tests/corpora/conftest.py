# The downloaded packages' own tests are theirs to run, not this suite's.
collect_ignore = ["unpacked"]
