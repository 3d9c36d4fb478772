"""The GitHub bot: a webhook server (or one Actions event) turns a labelled issue, or a
`/supercoder fix` comment, into a job; a job repairs the issue and opens a draft pull request.

    events.py   signature check and which events become jobs (no network)
    queue.py    the SQLite job queue: deliveries seen, jobs, claims, rate limits
    github.py   credentials from the environment and the GitHub calls a job makes (githubkit)
    gitops.py   clone and push with GitPython, the token never written to disk
    job.py      one job: authorise, acknowledge, clone, repair, push, open or update the PR
    server.py   the ASGI app (POST /webhook) and the pool of worker processes
"""
