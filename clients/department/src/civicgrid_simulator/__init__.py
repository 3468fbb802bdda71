"""civicgrid_simulator: a simulated city that uses the platform as its people would.

``python -m civicgrid_simulator [--rate 1] [--days N --time-scale 1/1440]``

Citizens send appeals from every channel (12345 hotline, grid worker app with some
"resolved on the spot", web message boards, Open311, the generic route for the other
channels) with a realistic mix of matters and Chinese free text, at places of the
territory registry, and answer call-backs. Departments sign for, start, return (退单)
with a reason, ask for more time, summon county departments (吹哨), hand cases up,
resolve them on time or late, or let them go overdue. The city platform's desk decides
extensions and dispatches held cases by hand; the triage operator classifies what the
classifier was unsure about. It is a separate program, not part of any service: it
talks to the platform only through intake's and dispatch's HTTP APIs, the responses
topic, and (read only) dispatch's cases topic. See ``city.py`` for who does what,
``mix.py`` for the mix, ``schedule.py`` for the timing.

Live mode (the default) runs on real time: ``--rate`` appeals per second on average
(a Poisson process), and dispatch's real time limits (hours to working days). So that
the dashboard moves within minutes, a unit that works on time does so within
``--work-minutes`` (5) however long its limit, and citizens answer call-backs within
that time too; deadlines are not touched, so what the mix makes late (slow sign-fors,
late resolutions, absent units) really goes overdue, is supervised and escalated, hours
later, as it would in the city. ``--work-minutes 0`` plays the real limits out.

Days mode (``--days N``) plays N simulated days fast, and what "fast" means is set by
dispatch, not by the simulator:

- The platform cannot be given past times. Intake stamps every appeal with its own
  clock (``received_at``; a channel's ``call_time``/``found_at``/``posted_at`` is kept
  only as ``occurred_at``), dispatch stamps every step with its own clock (a unit's
  ``acted_at`` is honoured only if it is not in the future and not before the case's
  last change), and only the history import backdates, for closed cases without timers.
  So days are not played as backdated history.
- Instead dispatch runs with ``CIVICGRID_DISPATCH_TIME_SCALE`` = *s* < 1: every time
  limit it sets (sign-for, resolve, call-back, the respond window of a summons, the
  overdue period before automatic escalation) is multiplied by *s*, and its timers fire
  at the scaled moments. The simulator is told the same *s* (``--time-scale``, default
  the environment's ``CIVICGRID_DISPATCH_TIME_SCALE``) and runs its own simulated clock
  at 1/*s* times real time: N days take N × 86,400 × *s* real seconds (at 1/1440 a day
  is a minute). Day 1 starts at 00:00, city time. Appeals arrive at ``--rate`` per real
  second on average (so about rate × N × 86,400 × *s* in all), shaped by the simulated
  hour of the day (quiet at night, peaks at 9-11 and 14-16). Units plan their steps
  within the (scaled) windows of their tasks and play every limit out. When the N days
  are over the simulator stops: later steps of open cases are not played.
- The platform's own latency is not scaled: at 1/6000 (a week in 101 s, as the
  integration test runs it) a 30-minute sign-for limit is 0.3 s, about one round trip
  through the broker, so many sign-fors of urgent matters come late and are supervised.
  At 1/1440 this is rare.
- Every timestamp the platform records is real (compressed) time: analytics counts the
  simulated week in the real minutes it took, and "on time" compares real times against
  scaled limits. Working-day calendars are applied to real dates before scaling.
- ``make run SIM_DAYS=7`` starts dispatch at scale 1/1440 and the simulator with the
  same scale. The simulator reads the scale dispatch really uses off the first task's
  sign-for window and says so when it differs from its own.

Nothing here prints personal data: phone numbers are synthetic (one fixed range, never
printed), and intake masks them before anything else sees them.
"""
