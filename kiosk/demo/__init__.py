"""``kiosk demo``: scripted scenes measured, scored and stored, a local central server fed, the Kivy terminal shown.

``run.py`` drives it, ``history.py`` writes the weeks of made-up history the dashboards show, ``real_people.py``
measures a composed real-people scene through the real pipeline.
"""
