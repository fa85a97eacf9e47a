"""spark-submit entry point: see `./spark-submit.sh report --help`."""

from lakecart.jobs.report import main

if __name__ == "__main__":
    main()
