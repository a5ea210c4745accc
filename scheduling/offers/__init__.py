"""Earlier-time offers: freed chair time offered to patients whose next dose fits it; the first to say yes gets it."""
