"""Running the system: the doctor's checks, users, the Prefect server and its scheduler's health,
run summaries (artifacts) and failure alerts to the admins.
"""
