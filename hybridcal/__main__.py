from hybridcal.cli import app

app(prog_name="python -m hybridcal")
