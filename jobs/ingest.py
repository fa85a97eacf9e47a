"""spark-submit entry point: see `./spark-submit.sh ingest --help`."""

from lakecart.jobs.ingest import main

if __name__ == "__main__":
    main()
