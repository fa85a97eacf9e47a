"""spark-submit entry point: see `./spark-submit.sh images --help`."""

from lakecart.jobs.images import main

if __name__ == "__main__":
    main()
