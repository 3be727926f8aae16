"""The blueprints, one module each (as datasette groups its views).

| module | blueprint | pages |
|---|---|---|
| ``pages`` | ``pages`` | landing, health check, error pages |
| ``auth`` | ``auth`` | clinician sign-in and sign-out, patient links |
| ``patient`` | ``patient`` | the patient's home and own data export |
| ``consent`` | ``consent`` | information sheet, screening, quiz, consent, withdrawal |
| ``diary`` | ``diary`` | daily entry, offline sync, history, reminders, the PWA shell |
| ``clinic`` | ``clinic`` | the clinician workspace |
| ``admin`` | ``admin`` | clinic settings, team, own account |

Downloads go through :func:`diary.views.download.send_download`.
"""
